"""Section 2: the autoencoder (program 2) and the denoising autoencoder (program 3)."""


def cells(md, code):
    return [
        md("""
        ## 2. 오토인코더

        오토인코더(autoencoder)는 입력을 그대로 출력하도록 학습하는 신경망입니다. 다만 가운데가 좁은 마름모
        모양이어서, 인코더(encoder)는 입력을 짧은 코드(latent code)로 압축하고 디코더(decoder)는 그 코드에서
        입력을 다시 복원해야 합니다. 손실은 입력과 출력 사이의 평균 제곱 오차(MSE)입니다. 특징 학습, 차원 축소,
        표현 학습에 쓰입니다.

        ### 2.1 숫자를 32개의 수로 압축하기 (프로그램 2)

        `Input(784)` → `Dense(32, relu)`(코드) → `Dense(784, sigmoid)`, Adam, MSE, 배치 256, 이 장에서는 50 에포크.
        """, """
        ## 2. Autoencoders

        An autoencoder learns to output its own input, through a narrow middle (a diamond shape): the
        encoder compresses the input into a short latent code and the decoder restores the input from that
        code. The loss is the mean squared error (MSE) between input and output. Uses: feature learning,
        dimensionality reduction, representation learning.

        ### 2.1 Digits compressed to 32 numbers (program 2)

        `Input(784)` → `Dense(32, relu)` (the code) → `Dense(784, sigmoid)`, Adam, MSE, batch 256,
        50 epochs in the chapter.
        """),
        code("""
        inputs = keras.Input(shape=(784,), name="pixels")
        code = layers.Dense(32, activation="relu", name="code")(inputs)          # @ko 인코더: 784개 -> 32개 @en the encoder: 784 numbers -> 32
        restored = layers.Dense(784, activation="sigmoid", name="restored")(code)  # @ko 디코더: 32개 -> 784개, [0, 1] 범위 @en the decoder: 32 numbers -> 784, in [0, 1]
        autoencoder_net = keras.Model(inputs, restored, name="autoencoder")

        autoencoder_net.compile(optimizer="adam", loss="mse")
        autoencoder_net.summary()
        """),
        md("""
        > **Keras 3에서 이 장의 코드 (프로그램 2)**
        >
        > 고칠 것이 없습니다. `Dense` 두 개, `compile(optimizer="adam", loss="mse")`,
        > `fit(x_train, x_train, epochs=50, batch_size=256, shuffle=True, validation_data=(x_test, x_test))`는
        > Keras 3에서 그대로 동작합니다.
        """, """
        > **The chapter's code on Keras 3 (program 2)**
        >
        > Nothing to fix. The two `Dense` layers, `compile(optimizer="adam", loss="mse")` and
        > `fit(x_train, x_train, epochs=50, batch_size=256, shuffle=True, validation_data=(x_test, x_test))`
        > work on Keras 3 as they are.
        """),
        code("""
        ae = lab.train("ae")
        print("«위에서 적은 신경망과 같은 구조인가|the same network as written above»:", notebook.same_network(autoencoder_net, ae.load_model()))
        print(f"«테스트 MSE|test MSE» {ae.metrics['test_mse']:.4f} "
              f"(«평균 이미지를 답으로 낼 때|the mean image as the answer» {ae.metrics['baseline_mean_mse']:.4f})")
        show(ae.figures / "reconstructions.png")   # @ko 이 장의 그림: 원본(위)과 복원(아래), figsize (20, 6) @en the chapter's figure: originals over reconstructions, figsize (20, 6)
        """),
        md("""
        위 행은 테스트 숫자(인덱스 1~10)의 원본, 아래 행은 오토인코더가 복원한 결과입니다. 이 장에서 말하듯 복원된
        숫자는 조금 흐릿하고 번져 있습니다. 784개의 픽셀을 32개의 수로 줄였다가 되살렸으니 세부가 조금 사라지는
        것은 자연스러운 일입니다. 그래도 오차는 평균 이미지를 답으로 낼 때보다 훨씬 작습니다.

        ### 2.2 노이즈 제거 오토인코더 (프로그램 3)

        같은 신경망에 노이즈가 섞인 이미지를 넣고, 깨끗한 원본을 출력하도록 학습합니다. 이것이 노이즈 제거
        오토인코더(denoising autoencoder)입니다. 이 장의 노이즈는 픽셀마다 `0.55 * np.random.normal(0, 1)`을 더한
        것이고, 결과를 [0, 1] 범위로 자르지(clip) 않습니다. 아래 셀이 그 노이즈입니다. genlab의 `chapter` 프리셋도
        똑같이 만듭니다.
        """, """
        The top row holds test digits 1 to 10, the bottom row the autoencoder's reconstructions. As the
        chapter says, they are a little blurry and smeared: 784 pixels squeezed into 32 numbers and back lose
        some detail. The error is still far below that of answering with the mean image.

        ### 2.2 The denoising autoencoder (program 3)

        The same network, fed noisy images and trained to output the clean originals: a denoising
        autoencoder. The chapter's noise adds `0.55 * np.random.normal(0, 1)` to every pixel and does not
        clip the result to [0, 1]. The cell below makes that noise; genlab's `chapter` preset makes it the
        same way.
        """),
        code("""
        noise_factor = 0.55
        x_test_noisy = x_test + noise_factor * np.random.normal(0.0, 1.0, size=x_test.shape)   # @ko 이 장처럼 자르지 않습니다 @en not clipped, as in the chapter
        print(f"«노이즈 섞인 입력의 범위|range of the noisy input»: {x_test_noisy.min():.2f} .. {x_test_noisy.max():.2f}")
        print(f"«깨끗한 원본과의 MSE|MSE against the clean original»: {np.mean((x_test_noisy - x_test) ** 2):.3f}")
        """),
        md("""
        > **Keras 3에서 이 장의 코드 (프로그램 3)**
        >
        > 고칠 것이 없습니다. 프로그램 2와 같은 신경망이고, 달라지는 것은 `fit(x_train_noisy, x_train, ...)`처럼
        > 입력만 노이즈 섞인 이미지로 바꾸는 것뿐입니다. NumPy가 만든 float64 배열도 Keras 3이 float32로 바꿔 줍니다.
        """, """
        > **The chapter's code on Keras 3 (program 3)**
        >
        > Nothing to fix. It is program 2's network; only the input changes, to the noisy images:
        > `fit(x_train_noisy, x_train, ...)`. Keras 3 turns NumPy's float64 arrays into float32 itself.
        """),
        code("""
        dae = lab.train("dae")
        dae_model = dae.load_model()
        dae_model.summary()   # @ko genlab은 인코더와 디코더를 따로 저장할 수 있게 모델 두 개로 나눠 만듭니다 @en genlab builds the encoder and the decoder as two inner models, to save each on its own
        print("«프로그램 2와 같은 구조인가|the same network as program 2»:", notebook.same_network(autoencoder_net, dae_model))
        print(f"«노이즈 섞인 입력의 MSE|MSE of the noisy input» {dae.metrics['noisy_mse']:.4f} -> "
              f"«노이즈 제거 후|after denoising» {dae.metrics['test_mse']:.4f}")
        show(dae.figures / "denoising.png")   # @ko 이 장의 그림: 노이즈 섞인 입력, 노이즈 제거 결과, 깨끗한 원본 @en the chapter's figure: noisy input, denoised output, clean original
        """),
        md("""
        세 행은 차례로 노이즈 섞인 입력, 노이즈 제거 오토인코더의 출력, 깨끗한 원본입니다. 사람 눈에도 알아보기
        어려운 입력에서 숫자의 모양을 꽤 잘 되살립니다.

        학습한 모델은 `genlab.denoise`로 다른 이미지에도 쓸 수 있습니다. PNG나 JPEG 파일 경로를 넘겨도 됩니다.
        실제 사진처럼 이미지는 [0, 1] 범위에 있어야 하므로(`genlab.denoise`는 입력을 [0, 1]로 자릅니다), 이번에는 테스트 숫자(인덱스 11~20)에 조금 약한 노이즈
        (표준편차 0.3)를 섞은 뒤 [0, 1]로 잘라서 넣어 봅니다. 학습 때와 다른 노이즈인데도 숫자를 되살리는지 보세요.
        """, """
        The three rows are the noisy input, the denoiser's output and the clean original. The digit's shape
        comes back from inputs that are hard to read even for a person.

        The trained model works on any images through `genlab.denoise`; a PNG or JPEG path works too.
        Images, like photos, must lie in [0, 1] (`genlab.denoise` clips its input to [0, 1]): here test digits 11 to 20 get a milder noise (standard
        deviation 0.3), clipped to [0, 1]. Does the model restore digits under noise it was not trained on?
        """),
        code("""
        clean = x_test[11:21]
        noisy = np.clip(clean + 0.3 * np.random.default_rng(7).standard_normal(clean.shape), 0, 1)   # @ko 새 노이즈, [0, 1]로 자름 @en fresh noise, clipped to [0, 1]
        denoised = genlab.denoise(dae.path, noisy)   # @ko float32 (10, 28, 28, 1), [0, 1] 범위 @en float32 (10, 28, 28, 1), in [0, 1]
        show(plotting.image_rows([("noisy", noisy), ("denoised", denoised), ("original", clean)], lab.root / "denoise-api.png"))
        """),
        md("""
        ### 직접 해 보기

        - **2-1** 코드 크기를 2, 8, 64로 바꿔 학습해 보세요: `lab.train("ae", latent_dim=8)`. 테스트 MSE를 평균
          이미지의 MSE와 견주고, 복원 그림(`show(run.figures / "reconstructions.png")`)을 비교해 보세요. 숫자를
          알아볼 수 있으려면 코드가 몇 개는 있어야 하나요?
        - **2-2** 노이즈의 세기를 0.3과 0.8로 바꾸고, 각각 [0, 1]로 자를 때와 자르지 않을 때를 비교해 보세요:
          `lab.train("dae", noise_factor=0.8, clip_noisy=True)`. 노이즈 섞인 입력의 MSE(`noisy_mse`)와 노이즈 제거
          후의 MSE(`test_mse`)는 어떻게 바뀌나요? 자르면 노이즈가 약해지는 이유는 무엇일까요?
        - **2-3** 학습 때와 같은 종류의 노이즈(0.55, 자르지 않음)를 넣으면 결과가 더 좋을까요? `genlab.denoise`는
          사진을 다룰 때처럼 입력을 [0, 1]로 자르므로, 이번에는 모델을 직접 부르세요:
          `dae_model.predict(noisy.reshape(len(noisy), -1))`. 위 셀의 노이즈 0.3(자름)과 MSE를 비교해 보세요.
        """, """
        ### Try it

        - **2-1** Train with a code of 2, 8 and 64 numbers: `lab.train("ae", latent_dim=8)`. Compare the test
          MSE with the mean image's and look at the reconstructions (`show(run.figures / "reconstructions.png")`).
          How many numbers does the code need before the digits can be read?
        - **2-2** Change the noise to 0.3 and 0.8, each with and without clipping to [0, 1]:
          `lab.train("dae", noise_factor=0.8, clip_noisy=True)`. What happens to the MSE of the noisy input
          (`noisy_mse`) and after denoising (`test_mse`)? Why does clipping make the noise weaker?
        - **2-3** Is the result better under the noise the model was trained on (0.55, unclipped)?
          `genlab.denoise` clips its input to [0, 1], as it would a photo, so call the model itself:
          `dae_model.predict(noisy.reshape(len(noisy), -1))`. Compare the MSE with the cell above's 0.3, clipped.
        """),
    ]
