"""Section 1: generative models, the mean 'model', discriminative models, program 1 (the classifier)."""


def cells(md, code):
    return [
        md("""
        ## 1. 생성 모델

        생성 모델(generative model)은 훈련 데이터에 숨은 규칙을 찾아내고, 그 규칙을 따르는 *새로운* 샘플을
        만들어 내는 모델입니다. 몬드리안 풍의 그림을 그럴듯하게 그려 내는 모델이 있다면, 그 모델은 몬드리안
        화풍의 규칙을 배운 셈입니다. 생성 모델은 학습하면서 데이터를 잠재 공간(latent space)에 표현하는 법을
        익히고, 학습이 끝나면 잠재 공간에서 아무 점이나 골라 넣어도 그에 맞는 출력을 만들어 냅니다.

        ### 1.1 결정론적 '모델': 픽셀별 평균 이미지

        이 장은 먼저 생성 모델이 *아닌* 것을 살펴봅니다. 훈련 이미지 전체를 픽셀별로 평균하면 숫자 비슷한
        이미지가 한 장 나옵니다. 그럴듯해 보이지만, 이 '모델'은 몇 번을 불러도 똑같은 이미지 한 장만 내놓는
        결정론적(deterministic) 모델입니다. 부를 때마다 다른 출력을 얻으려면 입력에 무작위성, 곧 노이즈(noise)가
        있어야 합니다. 생성 모델이 노이즈를 입력으로 받는 이유가 여기에 있습니다.
        """, """
        ## 1. Generative models

        A generative model discovers the regularities of its training data and produces *new* samples that
        follow them. A model that paints convincing Mondrian-style pictures has learnt the rules of the style.
        While training, a generative model learns to represent the data in a latent space; once trained,
        any point of that space, fed in, gives a corresponding output.

        ### 1.1 A deterministic "model": the per-pixel mean image

        The chapter starts with what a generative model is *not*. The per-pixel mean of all training images
        looks like a digit, more or less, but this "model" gives the same single image every time it is
        asked: it is deterministic. To get a different output on every call a model needs randomness in
        its input, noise. That is why generative models take noise as input.
        """),
        code("""
        mean_image = x_train.mean(axis=0)   # @ko (28, 28, 1): 픽셀별 평균 @en (28, 28, 1): the per-pixel mean


        def mean_model(count):
            \"\"\"«평균 '모델'에서 샘플 count장: 언제나 같은 이미지|count samples of the mean 'model': always the same image».\"\"\"
            return np.repeat(mean_image[None], count, axis=0)


        print("«다섯 번 부른 결과가 모두 같은가|are five calls all the same»:", all(np.array_equal(mean_model(1)[0], mean_model(1)[0]) for _ in range(5)))
        show(plotting.image_rows([("training images", x_train[:5]), ("mean 'model'", mean_model(5))], lab.root / "mean-model.png"))
        """),
        md("""
        위 행은 훈련 이미지이고, 아래 행은 평균 '모델'에서 다섯 번 뽑은 '샘플'입니다. 다섯 장이 모두 똑같습니다.
        3절에서 학습할 GAN의 샘플을 이 평균 이미지 옆에 나란히 놓고 다시 비교해 보겠습니다.

        ### 1.2 분류 모델과 생성 모델

        분류 모델(discriminative model)은 이미지 $x$가 주어졌을 때 레이블 $y$의 확률 $p(y \\mid x)$를 추정합니다.
        생성 모델은 이미지 자체의 분포 $p(x)$를 추정합니다. 분류 모델은 "이 숫자는 7인가?"에 답하고, 생성 모델은
        "7처럼 보이는 새 이미지"를 만들어 냅니다. 먼저 이 장의 첫 프로그램인 분류 모델부터 만들어 봅시다.

        ### 1.3 함수형 API로 만든 MNIST 분류 모델 (프로그램 1)

        Keras의 함수형 API(functional API)는 `x = Dense(64)(inputs)`처럼 층을 함수처럼 호출해서 그래프로
        연결합니다. `Sequential` 모델은 층을 한 줄로 쌓을 수만 있지만, 함수형 API로 만든 모델은 중간 층의
        출력을 꺼내 볼 수 있고 종류가 다른 입력을 하나로 합칠 수도 있습니다. 이 장이 함수형 API를 쓰는 이유입니다.

        - 구조: `Input(784)` → `Dense(64, relu)` → `Dense(64, relu)` → `Dense(10)`(로짓, logits)
        - 손실 `SparseCategoricalCrossentropy(from_logits=True)`, 옵티마이저 `RMSprop()`, 배치 64,
          검증 비율 0.2, 이 장에서는 2 에포크

        아래 셀이 이 신경망을 함수형 API로 적은 것입니다. 입력 `keras.Input`에서 출발해 층을 하나씩 호출하고,
        마지막에 입력과 출력을 `keras.Model`에 넘깁니다.
        """, """
        The top row holds training images, the bottom row five "samples" of the mean "model": all five are
        the same. In section 3 we put samples of a trained GAN next to this mean image.

        ### 1.2 Discriminative and generative models

        A discriminative model such as a classifier estimates the probability $p(y \\mid x)$ of a label $y$
        given an image $x$; a generative model estimates the distribution $p(x)$ of the images themselves.
        The first answers "is this digit a 7?", the second draws "a new image that looks like a 7". We start
        with the chapter's first program, a discriminative model.

        ### 1.3 The MNIST classifier, written with the functional API (program 1)

        Keras' functional API connects layers as a graph by calling them like functions,
        `x = Dense(64)(inputs)`. A `Sequential` model can only stack layers in a line; a functional model can
        hand out the output of any inner layer and can join inputs of different kinds. That is why the
        chapter uses it.

        - Network: `Input(784)` → `Dense(64, relu)` → `Dense(64, relu)` → `Dense(10)` (logits)
        - Loss `SparseCategoricalCrossentropy(from_logits=True)`, optimizer `RMSprop()`, batch 64,
          validation split 0.2, 2 epochs in the chapter

        The cell below writes this network out with the functional API: start from the input,
        `keras.Input`, call one layer after another, and hand the input and the output to `keras.Model`.
        """),
        code("""
        inputs = keras.Input(shape=(784,), name="pixels")                   # @ko (배치, 784): 펼친 28x28 이미지 @en (batch, 784): a flattened 28x28 image
        x = layers.Dense(64, activation="relu", name="hidden_1")(inputs)
        x = layers.Dense(64, activation="relu", name="hidden_2")(x)
        outputs = layers.Dense(10, name="logits")(x)                        # @ko 소프트맥스 없이 로짓 10개 @en 10 logits, no softmax
        classifier_net = keras.Model(inputs, outputs, name="classifier")

        classifier_net.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                               optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
        classifier_net.summary()
        """),
        md("""
        > **Keras 3에서 이 장의 코드 (프로그램 1)**
        >
        > 고칠 것이 없습니다. 함수형 API, `RMSprop()`, `SparseCategoricalCrossentropy(from_logits=True)`,
        > `fit(batch_size=64, epochs=2, validation_split=0.2)`는 Keras 3에서 그대로 동작합니다.
        > `from tensorflow import keras`로 가져오는 코드도 TensorFlow 2.16 이상에서는 Keras 3을 가져오므로 그대로
        > 돌아갑니다. `import keras`로 쓰면 같은 코드가 JAX와 PyTorch 백엔드에서도 돌아갑니다.

        genlab의 `classifier` 계열은 `chapter` 프리셋(preset)에서 이 신경망을 만들어 위의 설정으로 학습합니다.
        학습한 모델이 위에서 적은 신경망과 같은 구조인지(가중치의 모양이 하나하나 같은지)도 확인합니다.
        """, """
        > **The chapter's code on Keras 3 (program 1)**
        >
        > Nothing to fix. The functional API, `RMSprop()`, `SparseCategoricalCrossentropy(from_logits=True)`
        > and `fit(batch_size=64, epochs=2, validation_split=0.2)` work on Keras 3 as they are. Code that
        > imports `from tensorflow import keras` runs too: on TensorFlow 2.16 and later that is Keras 3.
        > Written with `import keras`, the same code also runs on the JAX and PyTorch backends.

        genlab's `classifier` family builds this network with its `chapter` preset and trains it with the
        settings above. We also check that the trained model is the network written above (the same weight
        shapes, one by one).
        """),
        code("""
        classifier = lab.train("classifier")
        model = classifier.load_model()   # @ko 실행 폴더의 model.keras를 안전 모드로 불러옵니다 @en model.keras from the run folder, loaded in safe mode
        print("«위에서 적은 신경망과 같은 구조인가|the same network as written above»:", notebook.same_network(classifier_net, model))
        print(f"«테스트 정확도|test accuracy»: {classifier.metrics['test_accuracy']:.4f} ({classifier.metrics['dataset']})")
        show(classifier.figures / "curves.png")
        """),
        md("""
        함수형 API로 만든 모델이므로, 첫 번째 은닉층 `hidden_1`의 출력을 내보내는 모델을 한 줄로 만들 수
        있습니다. 입력은 원래 모델의 입력을 그대로 쓰고, 출력만 은닉층의 출력으로 바꾸면 됩니다. 새로 학습하는
        것은 없습니다. 두 모델이 같은 층(같은 가중치)을 공유하기 때문입니다. 테스트 숫자 다섯 장을 넣고,
        64개 은닉 유닛의 활성값(activation)을 8×8 격자로 그려 봅시다.
        """, """
        Because the model is functional, a model that outputs the first hidden layer `hidden_1` takes one
        line: the original model's input, and that layer's output. Nothing is trained again: both models
        share the same layers and weights. Five test digits in, and the 64 hidden units' activations drawn
        as 8x8 grids:
        """),
        code("""
        hidden = keras.Model(model.inputs, model.get_layer("hidden_1").output)   # @ko 입력 784개 -> 은닉 유닛 64개 @en 784 inputs -> 64 hidden units
        digits = x_test[:5]
        activations = hidden.predict(digits.reshape(len(digits), -1), verbose=0)    # @ko (5, 64) @en (5, 64)
        predicted = model.predict(digits.reshape(len(digits), -1), verbose=0).argmax(axis=1)

        figure, axes = plt.subplots(2, 5, figsize=(11, 4.6))
        for column in range(5):
            axes[0, column].imshow(digits[column, :, :, 0], cmap="gray")
            axes[0, column].set_title(f"label {lab.data.y_test[column]}, predicted {predicted[column]}", fontsize=9)
            shown = axes[1, column].imshow(activations[column].reshape(8, 8), cmap="viridis", vmin=0, vmax=activations.max())
            axes[1, column].set_title(f"{(activations[column] > 0).sum()}/64 active", fontsize=9)
        for axis in axes.ravel():
            axis.set_xticks([])
            axis.set_yticks([])
        axes[0, 0].set_ylabel("test digit")
        axes[1, 0].set_ylabel("hidden_1 (8 x 8)")
        figure.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="ReLU output")
        lab.show_figure(figure)
        """),
        md("""
        ReLU를 거친 은닉 유닛 가운데 상당수는 0(꺼짐)이고, 숫자마다 켜지는 유닛의 조합이 다릅니다.
        분류 모델은 이 64개의 수만 보고 마지막 층에서 숫자를 고릅니다. `Sequential`로 쌓은 모델이었다면 이렇게
        중간 출력을 꺼내는 모델을 만들 수 없었을 것입니다.

        ### 직접 해 보기

        - **1-1** `classifier_net.summary()`의 파라미터 수를 손으로 계산해 보세요. `Dense` 층 하나의 파라미터는
          (입력 수 × 유닛 수) + 유닛 수입니다.
        - **1-2** 두 번째 은닉층 `hidden_2`의 출력을 꺼내는 모델을 만들어 같은 그림을 그려 보세요. 켜진 유닛의
          수가 첫 번째 은닉층과 어떻게 다른가요?
        - **1-3** 은닉층을 넓히거나 좁혀서 학습해 보세요: `lab.train("classifier", hidden_units=(128, 128))`,
          `lab.train("classifier", hidden_units=(16, 16))`. 테스트 정확도와 학습 곡선은 어떻게 바뀌나요?
        """, """
        Many ReLU units are off (zero), and each digit switches on its own combination of units; the last
        layer picks the digit from these 64 numbers alone. A model stacked with `Sequential` could not hand
        out an inner output like this.

        ### Try it

        - **1-1** Count the parameters of `classifier_net.summary()` by hand. One `Dense` layer has
          (inputs × units) + units parameters.
        - **1-2** Build a model that reads out the second hidden layer, `hidden_2`, and draw the same figure.
          How does the number of active units differ from the first hidden layer's?
        - **1-3** Train with wider or narrower hidden layers: `lab.train("classifier", hidden_units=(128, 128))`,
          `lab.train("classifier", hidden_units=(16, 16))`. What happens to the test accuracy and the curves?
        """),
    ]
