"""The one source of notebooks/chapter12.ipynb (Korean) and chapter12.en.ipynb (English).

Edit this file, then run `python notebooks/build.py`; tests/test_notebooks.py fails when a committed
notebook differs from what this file builds, so the two languages cannot drift apart.

CELLS is a list of cells in order:
- md(korean, english): a Markdown cell, written separately in each language;
- code(text): one code cell for both languages. Inside it, `# @ko 한국어 @en English` is a comment
  (the builder keeps the half of the notebook's language, after `# `), and `«한국어|English»` is
  any other text in the code (printed labels): the builder keeps the matching half.
Figures are labelled in English in both notebooks: matplotlib's default fonts have no Hangul.
"""
from __future__ import annotations

from dataclasses import dataclass
from textwrap import dedent


@dataclass(frozen=True)
class Cell:
    kind: str            # "markdown" or "code"
    ko: str
    en: str


def md(ko: str, en: str) -> Cell:
    return Cell("markdown", dedent(ko).strip(), dedent(en).strip())


def code(text: str) -> Cell:
    text = dedent(text).strip()
    return Cell("code", text, text)


CELLS = [
    # ------------------------------------------------------------------ title
    md("""
    # 12장. 생성 모델(Generative Model): genlab으로 따라 하기

    이 노트북은 교재 12장의 절을 순서대로 따라가면서, 각 프로그램을 genlab의 파이썬 API로 실행하고
    결과 그림을 바로 아래에 보여 줍니다. 책의 코드를 한 줄씩 옮겨 적는 대신 `genlab.train(...)`을 한 번
    호출하면, 책과 같은 신경망을 같은 설정(genlab의 `chapter` 프리셋)으로 학습해 실행 폴더(run folder)에
    모델과 그림을 저장합니다.

    | 절 | 내용 | genlab |
    |---|---|---|
    | 1 | 생성 모델, 분류 모델, 함수형 API 분류기 (프로그램 1) | `genlab.train("classifier", preset="chapter")` |
    | 2 | 오토인코더와 노이즈 제거 오토인코더 (프로그램 2, 3) | `genlab.train("ae" / "dae", preset="chapter")` |
    | 3 | GAN (프로그램 4), Keras 3에서 `trainable = False`가 실패하는 이유 | `genlab.train("gan", preset="chapter")` |
    | 4 | 책 너머: 평가 지표, VAE, 조건부 GAN | `genlab.evaluate`, `genlab.train("vae" / "cgan")` |

    설치는 저장소 루트에서 한 번이면 됩니다(README.ko.md 참고).

    ```bash
    pip install -e ".[cpu,notebook]" jupyterlab
    jupyter lab notebooks/chapter12.ipynb
    ```
    """, """
    # Chapter 12. Generative models, with genlab

    This notebook follows the chapter's sections in order, runs each program through genlab's Python
    API and shows the figures right below. Instead of copying the book's code line by line, one call to
    `genlab.train(...)` trains the same network with the same settings (genlab's `chapter` preset) and
    writes the model and its figures to a run folder.

    | section | what | genlab |
    |---|---|---|
    | 1 | generative models, discriminative models, the functional-API classifier (program 1) | `genlab.train("classifier", preset="chapter")` |
    | 2 | autoencoder and denoising autoencoder (programs 2, 3) | `genlab.train("ae" / "dae", preset="chapter")` |
    | 3 | the GAN (program 4), and why `trainable = False` fails on Keras 3 | `genlab.train("gan", preset="chapter")` |
    | 4 | beyond the chapter: evaluation numbers, VAE, conditional GAN | `genlab.evaluate`, `genlab.train("vae" / "cgan")` |

    Install once, from the repository root (see README.md):

    ```bash
    pip install -e ".[cpu,notebook]" jupyterlab
    jupyter lab notebooks/chapter12.en.ipynb
    ```
    """),
    md("""
    ## 0. 준비: `QUICK` 스위치

    `QUICK = True`(기본값)이면 빠른 설정으로 실행합니다. 신경망, 손실 함수, 옵티마이저는 책과 똑같고
    학습 길이만 `genlab run chapter --quick`과 같은 예산(`genlab.chapter.quick_budgets`)으로 줄입니다.
    노트북 컴퓨터의 CPU에서 전체가 몇 분이면 끝납니다. `QUICK = False`로 바꾸면 책의 설정 그대로(분류기 2 에포크,
    오토인코더 50 에포크, GAN 2000 스텝) 학습하고, 평가에는 샘플 10,000장을 씁니다. CPU에서는 40분쯤 걸립니다.

    인터넷에 연결되어 있지 않고 컴퓨터에 MNIST도 없으면, genlab에 내장된 `mnist-5k`(실제 MNIST 숫자
    5,000장: 훈련 4,000장, 테스트 1,000장)를 대신 쓰고 그 사실을 경고 한 줄로 알려 줍니다. 빠른 설정의 예산은
    실제로 있는 데이터의 크기에 맞춰 정해집니다.

    (환경 변수 `GENLAB_NOTEBOOK_BUDGET=ci`는 CI 테스트용으로, 모든 학습을 몇 초짜리로 더 줄이고 내장 `mnist-5k`를 씁니다.
    그때 나오는 그림은 학습이 덜 된 모습입니다.)
    """, """
    ## 0. Setup: the `QUICK` switch

    With `QUICK = True` (the default) the notebook uses quick settings: the networks, losses and
    optimizers are the chapter's, and only the training lengths are cut to the budgets of
    `genlab run chapter --quick` (`genlab.chapter.quick_budgets`). The whole notebook takes a few minutes
    on a laptop CPU. With `QUICK = False` everything trains with the chapter's settings (2 classifier
    epochs, 50 autoencoder epochs, 2000 GAN steps) and the evaluation uses 10,000 samples: about 40
    minutes on a CPU.

    Offline, with no MNIST on the machine, genlab uses its embedded `mnist-5k` instead (5,000 real
    MNIST digits: 4,000 for training, 1,000 for testing) and says so in one warning line. The quick
    budgets follow the size of the data actually present.

    (The environment variable `GENLAB_NOTEBOOK_BUDGET=ci`, for the CI test, cuts every training to a
    few seconds on the embedded `mnist-5k`; the figures then show barely trained models.)
    """),
    code("""
    QUICK = True   # @ko True: 빠른 설정(몇 분). False: 책의 설정 그대로(CPU에서 40분쯤) @en True: quick settings (minutes). False: the chapter's settings (about 40 minutes on a CPU)
    """),
    code("""
    import io
    import math
    import os
    import time
    from pathlib import Path

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # @ko TensorFlow의 안내 메시지는 숨깁니다 @en hide TensorFlow's info messages

    import numpy as np
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    import genlab
    from genlab import backend, chapter, data, plotting

    backend.configure(None)   # @ko Keras 백엔드 선택(기본값 TensorFlow). Keras를 가져오기 전에 호출합니다 @en choose the Keras backend (TensorFlow by default) before Keras is imported
    import keras

    CI = os.environ.get("GENLAB_NOTEBOOK_BUDGET") == "ci"
    DATASET = "mnist-5k" if CI else "mnist"   # @ko CI는 네트워크와 무관하게 내장 데이터를 씁니다 @en CI: the embedded data, network or not
    ROOT = Path("notebook-runs") / time.strftime("%Y%m%d-%H%M%S")   # @ko 이 노트북의 실행 폴더들이 모이는 곳 @en where this notebook's run folders go
    TIMES = {}                                                      # @ko 프로그램별 학습 시간(초) @en seconds per program

    mnist = data.load(DATASET)   # @ko 오프라인이면 내장 mnist-5k로 대체하고 경고를 한 줄 출력합니다 @en offline: the embedded mnist-5k, with one warning line
    x_train = data.to_float(mnist.x_train)   # @ko float32, (N, 28, 28, 1), [0, 1] 범위 @en float32, (N, 28, 28, 1), in [0, 1]
    x_test = data.to_float(mnist.x_test)
    TRAIN_IMAGES = len(x_train)

    if QUICK:
        # @ko genlab run chapter --quick과 같은 예산: 데이터 크기에 맞춰 에포크 수가 정해집니다 @en the budgets of genlab run chapter --quick, sized to the data present
        BUDGET = chapter.quick_budgets(TRAIN_IMAGES, backend.fast_bfloat16())
        # @ko 책 너머의 모델: VAE는 전체 MNIST 1 에포크 분량(60,000장), cGAN은 GAN과 같은 예산 @en beyond the chapter: the VAE sees one full-MNIST epoch's worth of images (60,000), the cGAN gets the GAN's budget
        BUDGET["vae"] = {"epochs": max(1, math.ceil(60_000 / TRAIN_IMAGES))}
        BUDGET["cgan"] = dict(BUDGET["gan"])
        SAMPLES = 1000   # @ko 평가에 쓸 샘플 수 @en samples scored by the evaluator
    else:
        BUDGET = {name: {} for name in ("classifier", "ae", "dae", "gan", "vae", "cgan")}   # @ko 각 프리셋 그대로 @en each preset as it is
        SAMPLES = 10000
    if CI:   # @ko CI 테스트 전용: 몇 초짜리 학습 @en the CI test only: seconds of training
        BUDGET = {"classifier": {"epochs": 1}, "ae": {"epochs": 2}, "dae": {"epochs": 2}, "vae": {"epochs": 1},
                  "gan": {"steps": 40, "batch_size": 32, "sample_every": 20, "checkpoint_every": 40, "log_every": 10},
                  "cgan": {"steps": 20, "batch_size": 32, "sample_every": 10, "checkpoint_every": 20, "log_every": 10}}
        SAMPLES = 200


    def train(family, preset="chapter"):
        \"\"\"«한 프로그램을 학습하고 걸린 시간을 기록합니다|Train one program and note the time it took».\"\"\"
        started = time.perf_counter()
        run = genlab.train(family, preset=preset, overrides={"dataset": DATASET, **BUDGET[family]}, out=ROOT / family)
        TIMES[family] = time.perf_counter() - started
        config = genlab.open_run(run.path)[2]   # @ko 실행 폴더의 config.toml에 적힌 설정 @en the settings written to the run's config.toml
        length = f"{config.epochs} «에포크|epochs»" if hasattr(config, "epochs") else f"{config.steps} «스텝|steps» × {config.batch_size}"
        print(f"{family}: {length}, {TIMES[family]:.0f} «초|s» -> {run.path}")
        return run


    def show(path):
        \"\"\"«genlab이 저장한 그림(PNG)을 그대로 보여 줍니다|Show a figure (PNG) that genlab wrote».\"\"\"
        display(Image(filename=str(path)))


    def show_figure(figure):
        \"\"\"«matplotlib 그림을 PNG로 보여 줍니다(백엔드와 무관)|Show a matplotlib figure as a PNG, whatever the backend».\"\"\"
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(figure)
        display(Image(data=buffer.getvalue()))


    print(f"{mnist.name}: «훈련|train» {len(x_train)}, «테스트|test» {len(x_test)}; QUICK={QUICK}, CI={CI}")
    print("«학습 예산|budgets»:", BUDGET)
    """),
    # ------------------------------------------------------------------ 1. generative models
    md("""
    ## 1. 생성 모델

    생성 모델(generative model)은 훈련 데이터에 숨은 규칙을 찾아내고, 그 규칙을 따르는 *새로운* 샘플을
    만들어 내는 모델입니다. 몬드리안 풍의 그림을 그럴듯하게 그려 내는 모델이 있다면, 그 모델은 몬드리안
    화풍의 규칙을 배운 셈입니다. 생성 모델은 학습하면서 데이터를 잠재 공간(latent space)에 표현하는 법을
    익히고, 학습이 끝나면 잠재 공간에서 아무 점이나 골라 넣어도 그에 맞는 출력을 만들어 냅니다.

    ### 1.1 결정론적 '모델': 픽셀별 평균 이미지

    책은 먼저 생성 모델이 *아닌* 것을 살펴봅니다. 훈련 이미지 전체를 픽셀별로 평균하면 숫자 비슷한
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
    show(plotting.image_rows([("training images", x_train[:5]), ("mean 'model'", mean_model(5))], ROOT / "mean-model.png"))
    """),
    md("""
    위 행은 훈련 이미지이고, 아래 행은 평균 '모델'에서 다섯 번 뽑은 '샘플'입니다. 다섯 장이 모두 똑같습니다.
    3절에서 학습할 GAN의 샘플을 이 평균 이미지 옆에 나란히 놓고 다시 비교해 보겠습니다.

    ### 1.2 분류 모델과 생성 모델

    분류기 같은 분류 모델(discriminative model)은 이미지 $x$가 주어졌을 때 레이블 $y$의 확률 $p(y \\mid x)$를
    추정합니다. 생성 모델은 이미지 자체의 분포 $p(x)$를 추정합니다. 분류 모델은 "이 숫자는 7인가?"에 답하고,
    생성 모델은 "7처럼 보이는 새 이미지"를 만들어 냅니다. 먼저 책의 첫 프로그램인 분류 모델부터 학습해 봅시다.

    ### 1.3 함수형 API로 만든 MNIST 분류기 (프로그램 1)

    Keras의 함수형 API(functional API)는 `x = Dense(64)(inputs)`처럼 층을 함수처럼 호출해서 그래프로
    연결합니다. `Sequential` 모델은 층을 한 줄로 쌓을 수만 있지만, 함수형 API로 만든 모델은 중간 층의
    출력을 꺼내 볼 수 있고 종류가 다른 입력을 하나로 합칠 수도 있습니다. 책이 함수형 API를 쓰는 이유입니다.

    - 구조: `Input(784)` → `Dense(64, relu)` → `Dense(64, relu)` → `Dense(10)`(로짓, logits)
    - 손실 `SparseCategoricalCrossentropy(from_logits=True)`, 옵티마이저 `RMSprop()`, 배치 64,
      검증 비율 0.2, 책은 2 에포크. 책에 나온 테스트 정확도는 약 0.96입니다.
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
      validation split 0.2, 2 epochs in the chapter. The chapter reports a test accuracy of about 0.96.
    """),
    code("""
    classifier = train("classifier")
    print(f"«테스트 정확도|test accuracy»: {classifier.metrics['test_accuracy']:.4f} ({classifier.metrics['dataset']})")
    model = classifier.load_model()   # @ko 실행 폴더의 model.keras를 안전 모드로 불러옵니다 @en model.keras from the run folder, loaded in safe mode
    model.summary()
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
        axes[0, column].set_title(f"label {mnist.y_test[column]}, predicted {predicted[column]}", fontsize=9)
        shown = axes[1, column].imshow(activations[column].reshape(8, 8), cmap="viridis", vmin=0, vmax=activations.max())
        axes[1, column].set_title(f"{(activations[column] > 0).sum()}/64 active", fontsize=9)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0, 0].set_ylabel("test digit")
    axes[1, 0].set_ylabel("hidden_1 (8 x 8)")
    figure.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="ReLU output")
    show_figure(figure)
    """),
    md("""
    ReLU를 거친 은닉 유닛 가운데 상당수는 0(꺼짐)이고, 숫자마다 켜지는 유닛의 조합이 다릅니다.
    분류기는 이 64개의 수만 보고 마지막 층에서 숫자를 고릅니다. `Sequential`로 쌓은 모델이었다면 이렇게
    중간 출력을 꺼내는 모델을 만들 수 없었을 것입니다.
    """, """
    Many ReLU units are off (zero), and each digit switches on its own combination of units; the last
    layer picks the digit from these 64 numbers alone. A model stacked with `Sequential` could not hand
    out an inner output like this.
    """),
    # ------------------------------------------------------------------ 2. autoencoders
    md("""
    ## 2. 오토인코더

    오토인코더(autoencoder)는 입력을 그대로 출력하도록 학습하는 신경망입니다. 다만 가운데가 좁은 마름모
    모양이어서, 인코더(encoder)는 입력을 짧은 잠재 코드(latent code)로 압축하고 디코더(decoder)는 그 코드에서
    입력을 다시 복원해야 합니다. 손실은 입력과 출력 사이의 평균 제곱 오차(MSE)입니다. 특징 학습, 차원 축소,
    표현 학습에 쓰입니다.

    ### 2.1 숫자를 32개의 수로 압축하기 (프로그램 2)

    `Input(784)` → `Dense(32, relu)`(코드) → `Dense(784, sigmoid)`, Adam, MSE, 배치 256, 책은 50 에포크.
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
    ae = train("ae")
    print(f"«테스트 MSE|test MSE» {ae.metrics['test_mse']:.4f} "
          f"(«평균 이미지를 답으로 낼 때|the mean image as the answer» {ae.metrics['baseline_mean_mse']:.4f})")
    show(ae.figures / "reconstructions.png")   # @ko 책의 그림: 원본(위)과 복원(아래), figsize (20, 6) @en the chapter's figure: originals over reconstructions, figsize (20, 6)
    """),
    md("""
    위 행은 테스트 숫자(인덱스 1~10)의 원본, 아래 행은 오토인코더가 복원한 결과입니다. 책에서 말하듯 복원된
    숫자는 조금 흐릿하고 번져 있습니다. 784개의 픽셀을 32개의 수로 줄였다가 되살렸으니 세부가 조금 사라지는
    것은 자연스러운 일입니다. 그래도 오차는 평균 이미지를 답으로 낼 때보다 훨씬 작습니다.

    ### 2.2 노이즈 제거 오토인코더 (프로그램 3)

    같은 신경망에 노이즈가 섞인 이미지를 넣고, 깨끗한 원본을 출력하도록 학습합니다. 이것이 노이즈 제거
    오토인코더(denoising autoencoder)입니다. 책의 노이즈는 픽셀마다 `0.55 * np.random.normal(0, 1)`을 더한
    것이고, 결과를 [0, 1] 범위로 자르지(clip) 않습니다. genlab의 `chapter` 프리셋도 똑같이 합니다.
    """, """
    The top row holds test digits 1 to 10, the bottom row the autoencoder's reconstructions. As the
    chapter says, they are a little blurry and smeared: 784 pixels squeezed into 32 numbers and back lose
    some detail. The error is still far below that of answering with the mean image.

    ### 2.2 The denoising autoencoder (program 3)

    The same network, fed noisy images and trained to output the clean originals: a denoising
    autoencoder. The chapter's noise adds `0.55 * np.random.normal(0, 1)` to every pixel and does not
    clip the result to [0, 1]; genlab's `chapter` preset does exactly that.
    """),
    code("""
    dae = train("dae")
    print(f"«노이즈 섞인 입력의 MSE|MSE of the noisy input» {dae.metrics['noisy_mse']:.4f} -> "
          f"«노이즈 제거 후|after denoising» {dae.metrics['test_mse']:.4f}")
    show(dae.figures / "denoising.png")   # @ko 책의 그림: 노이즈 섞인 입력, 노이즈 제거 결과, 깨끗한 원본 @en the chapter's figure: noisy input, denoised output, clean original
    """),
    md("""
    세 행은 차례로 노이즈 섞인 입력, 노이즈 제거 오토인코더의 출력, 깨끗한 원본입니다. 사람 눈에도 알아보기
    어려운 입력에서 숫자의 모양을 꽤 잘 되살립니다.

    학습한 모델은 `genlab.denoise`로 다른 이미지에도 쓸 수 있습니다. PNG나 JPEG 파일 경로를 넘겨도 됩니다.
    실제 사진처럼 이미지는 [0, 1] 범위에 있어야 하므로, 이번에는 테스트 숫자(인덱스 11~20)에 조금 약한 노이즈
    (표준편차 0.3)를 섞은 뒤 [0, 1]로 잘라서 넣어 봅니다. 학습 때와 다른 노이즈인데도 숫자를 되살리는지 보세요.
    """, """
    The three rows are the noisy input, the denoiser's output and the clean original. The digit's shape
    comes back from inputs that are hard to read even for a person.

    The trained model works on any images through `genlab.denoise`; a PNG or JPEG path works too.
    Images, like photos, must lie in [0, 1]: here test digits 11 to 20 get a milder noise (standard
    deviation 0.3), clipped to [0, 1]. Does the model restore digits under noise it was not trained on?
    """),
    code("""
    clean = x_test[11:21]
    noisy = np.clip(clean + 0.3 * np.random.default_rng(7).standard_normal(clean.shape), 0, 1)   # @ko 새 노이즈, [0, 1]로 자름 @en fresh noise, clipped to [0, 1]
    denoised = genlab.denoise(dae.path, noisy)   # @ko float32 (10, 28, 28, 1), [0, 1] 범위 @en float32 (10, 28, 28, 1), in [0, 1]
    show(plotting.image_rows([("noisy", noisy), ("denoised", denoised), ("original", clean)], ROOT / "denoise-api.png"))
    """),
    # ------------------------------------------------------------------ 3. GAN
    md("""
    ## 3. 생성적 적대 신경망(GAN)

    GAN(Generative Adversarial Network, Goodfellow 외, 2014)에서는 두 신경망이 경쟁하며 함께 발전합니다.
    생성자(generator)는 가짜 데이터를 만들고, 판별자(discriminator)는 진짜와 가짜를 구별합니다. 판별자의 마지막
    층은 시그모이드(sigmoid)여서 1은 진짜, 0은 가짜를 뜻합니다. 학습은 판별자 업데이트와 생성자 업데이트를
    번갈아 합니다. 처음에는 생성자가 노이즈만 만들어 내므로 판별자가 쉽게 이기지만, 생성자는 점점 진짜 이미지의
    구조를 흉내 내게 됩니다. 생성자는 컨볼루션 신경망을 거꾸로 돌린 것처럼, 작은 활성화 맵(activation map)에서
    출발해 이미지를 만들어 냅니다.

    ### 3.1 책의 `trainable = False` 패턴은 Keras 3에서 조용히 실패합니다

    책은 판별자를 컴파일한 다음 `discriminator.trainable = False`로 얼리고, 생성자와 판별자를 이어 붙인 모델
    (stacked model)을 컴파일합니다. Keras 2에서는 `trainable`을 *컴파일할 때* 읽었기 때문에, 먼저 컴파일한
    판별자는 `train_on_batch`로 계속 학습되고 이어 붙인 모델 안에서만 얼어 있었습니다.

    Keras 3은 `trainable`을 *학습할 때*(훈련 함수를 만들고 실행할 때) 읽습니다. 그래서
    `discriminator.train_on_batch(...)`를 부르는 시점에 판별자는 이미 얼어 있고, 가중치는 하나도 바뀌지
    않습니다. 오류는 나지 않습니다. 놓치기 쉬운 경고가 한 줄 나올 뿐이고, 손실 값도 그럴듯하게 출력됩니다.
    작은 밀집층(dense layer) 신경망으로 직접 확인해 봅시다. 판별자 가중치의 절댓값 합(체크섬)을 학습 전후로
    비교합니다.
    """, """
    ## 3. Generative adversarial networks (GAN)

    In a GAN (Goodfellow et al., 2014) two networks compete and improve together: the generator makes
    fake data, the discriminator tells fakes from real data. The discriminator ends in a sigmoid,
    1 for real and 0 for fake. Training alternates a discriminator update and a generator update. At
    first the generator emits noise and the discriminator wins easily; gradually the generator copies
    the structure of real images. The generator works like a convolutional network run backwards: from a
    small activation map out to an image.

    ### 3.1 The chapter's `trainable = False` pattern fails silently on Keras 3

    The chapter compiles the discriminator, freezes it with `discriminator.trainable = False` and then
    compiles the stacked model (generator followed by discriminator). Keras 2 read `trainable` *at
    compile time*, so the discriminator, compiled first, kept training with `train_on_batch`, and was
    frozen only inside the stacked model.

    Keras 3 reads `trainable` *at train time* (when the train function is built and run). When
    `discriminator.train_on_batch(...)` runs, the discriminator is already frozen and not one weight
    changes. No error is raised: one easily missed warning line, and plausible loss values. Let us check
    with tiny dense networks, comparing a checksum (the sum of absolute weights) of the discriminator
    before and after training.
    """),
    code("""
    from keras import layers

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    # @ko 아주 작은 판별자 D(4차원 점 -> 진짜일 확률)와 생성자 G(2차원 노이즈 -> 4차원 점) @en a tiny discriminator D (4-D point -> probability of real) and generator G (2-D noise -> 4-D point)
    D = keras.Sequential([keras.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")], name="D")
    G = keras.Sequential([keras.Input((2,)), layers.Dense(4)], name="G")

    # @ko 책의 순서 그대로: D 컴파일 -> D 얼리기 -> 이어 붙인 모델 컴파일 @en the chapter's order: compile D -> freeze D -> compile the stacked model
    D.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01))
    D.trainable = False
    z = keras.Input((2,))
    stacked = keras.Model(z, D(G(z)))
    stacked.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01))


    def checksum(network):
        return float(sum(np.abs(weight).sum() for weight in network.get_weights()))


    def real_batch(count=16):
        return rng.normal(1.0, 0.5, size=(count, 4)).astype("float32")   # @ko '진짜' 데이터: 평균 1인 점들 @en 'real' data: points around 1


    d_before, g_before = checksum(D), checksum(G)
    for step in range(20):   # @ko 책의 학습 루프 @en the chapter's training loop
        fake = G.predict(rng.uniform(-1, 1, (16, 2)), verbose=0)
        d_loss = D.train_on_batch(np.concatenate([real_batch(), fake]), np.concatenate([np.ones((16, 1)), np.zeros((16, 1))]))
        g_loss = stacked.train_on_batch(rng.uniform(-1, 1, (16, 2)), np.ones((16, 1)))

    print(f"«D 손실|D loss» {d_loss:.4f}, «G 손실|G loss» {g_loss:.4f}   («그럴듯한 값|plausible values»)")
    print(f"«D 체크섬|D checksum»: {d_before:.6f} -> {checksum(D):.6f}   «같은가|unchanged»: {checksum(D) == d_before}")
    print(f"«G 체크섬|G checksum»: {g_before:.6f} -> {checksum(G):.6f}   «같은가|unchanged»: {checksum(G) == g_before}")
    print("«D의 학습 가능한 변수 개수|D's trainable variables»:", len(D.trainable_variables))
    """),
    md("""
    생성자의 체크섬은 바뀌었지만 판별자의 체크섬은 20 스텝이 지나도 그대로입니다. `D.trainable_variables`가
    비어 있으니 `D.train_on_batch`가 업데이트할 변수가 없는 것입니다. 책의 GAN을 Keras 3에서 그대로 돌리면
    판별자는 처음의 무작위 가중치에 머물고, 생성자는 학습되지 않는 판별자를 속이는 법만 배웁니다.

    genlab은 `trainable`을 건드리지 않습니다. 대신 각 신경망의 변수 목록과 옵티마이저를 직접 지정해서, 판별자
    스텝은 판별자의 변수만, 생성자 스텝은 생성자의 변수만 업데이트합니다(`genlab.families.gan.GANTrainer.train_step`,
    기울기 계산은 `genlab.backend.minimize`). 같은 작은 신경망으로 이 방식을 확인해 봅니다.
    """, """
    G's checksum moved, D's did not, after 20 steps: `D.trainable_variables` is empty, so
    `D.train_on_batch` has nothing to update. Run as written on Keras 3, the chapter's GAN keeps its
    discriminator at its random initial weights, and the generator only learns to fool a network that
    never learns.

    genlab leaves `trainable` alone. It names each network's variables and optimizer explicitly: the
    discriminator step updates the discriminator's variables only, the generator step the generator's
    only (`genlab.families.gan.GANTrainer.train_step`, gradients by `genlab.backend.minimize`). The
    same tiny networks, trained that way:
    """),
    code("""
    from genlab.backend import minimize

    D.trainable = True   # @ko 얼리지 않습니다. 업데이트할 변수를 직접 고릅니다 @en nothing frozen: we choose the variables to update
    bce = keras.losses.BinaryCrossentropy()
    d_optimizer, g_optimizer = keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.01)

    d_before, g_before = checksum(D), checksum(G)
    for step in range(20):
        real, fake = real_batch(), G(rng.uniform(-1, 1, (16, 2)).astype("float32"))
        images = keras.ops.concatenate([real, fake])
        targets = np.concatenate([np.ones((16, 1)), np.zeros((16, 1))]).astype("float32")
        # @ko 판별자 스텝: D의 변수만 업데이트 @en discriminator step: D's variables only
        d_loss, _, _ = minimize(lambda: (bce(targets, D(images, training=True)), None), D.trainable_variables, d_optimizer)
        d_after_d_step = checksum(D)
        # @ko 생성자 스텝: G의 변수만 업데이트(기울기는 D를 거쳐 흐르지만 D는 바뀌지 않습니다) @en generator step: G's variables only (the gradient flows through D, D does not change)
        noise = rng.uniform(-1, 1, (16, 2)).astype("float32")
        g_loss, _, _ = minimize(lambda: (bce(np.ones((16, 1), "float32"), D(G(noise, training=True), training=True)), None),
                                G.trainable_variables, g_optimizer)
        assert checksum(D) == d_after_d_step, "«생성자 스텝이 D를 바꾸면 안 됩니다|the generator step must not change D»"

    print(f"«D 체크섬|D checksum»: {d_before:.6f} -> {checksum(D):.6f}   «바뀌었는가|changed»: {checksum(D) != d_before}")
    print(f"«G 체크섬|G checksum»: {g_before:.6f} -> {checksum(G):.6f}   «바뀌었는가|changed»: {checksum(G) != g_before}")
    print("«생성자 스텝은 매번 D를 그대로 두었습니다|every generator step left D unchanged»")
    """),
    md("""
    이번에는 두 신경망이 모두 학습되고, 생성자 스텝은 판별자를 전혀 바꾸지 않습니다. genlab의 GAN은 이 두
    스텝을 한 번에 컴파일된 함수 하나로 실행합니다.

    ### 3.2 MNIST 숫자를 만드는 GAN (프로그램 4)

    - 판별자: 5×5 컨볼루션 3개(필터 64, 128, 256, 스트라이드 2, 각각 뒤에 Dropout 0.4) → `Flatten` →
      `Dense(1, sigmoid)`
    - 생성자: z(32차원) → `Dense(7*7*64)` → 배치 정규화(batch normalization)와 LeakyReLU → 업샘플링
      (upsampling)과 전치 컨볼루션(transposed convolution)으로 7×7 → 14×14 → 28×28 → `Conv2D(1, sigmoid)`
    - 두 신경망 모두 이진 교차 엔트로피(binary cross-entropy)와 `Adam(learning_rate=0.0004)`
    - 한 스텝: 진짜 이미지 128장과 생성자가 균등 분포 노이즈 $z \\sim U[-1, 1]$로 만든 가짜 128장으로 판별자를
      한 번, 새 노이즈와 레이블 1로 생성자를 한 번 업데이트합니다. 책의 `EPOCHS=2000`은 사실 스텝 수입니다.

    빠른 설정에서는 `genlab run chapter --quick`처럼 배치 32로 1,200 스텝을 학습합니다(CPU가 bfloat16을
    빠르게 계산하면 혼합 정밀도(mixed precision)를 씁니다). 짧은 학습에서는 이미지를 몇 장 보느냐보다 업데이트를
    몇 번 하느냐가 숫자 모양을 만드는 데 더 중요하기 때문입니다.
    """, """
    Now both networks train, and the generator step leaves the discriminator untouched. genlab's GAN runs
    both steps in one compiled function.

    ### 3.2 The GAN on MNIST digits (program 4)

    - Discriminator: three 5x5 convolutions (64, 128, 256 filters, stride 2, each followed by
      Dropout 0.4) → `Flatten` → `Dense(1, sigmoid)`
    - Generator: z (32-D) → `Dense(7*7*64)` → batch normalization and LeakyReLU → upsampling and
      transposed convolutions, 7x7 → 14x14 → 28x28 → `Conv2D(1, sigmoid)`
    - Both: binary cross-entropy and `Adam(learning_rate=0.0004)`
    - One step: the discriminator is updated once on 128 real images and 128 fakes made from uniform noise
      $z \\sim U[-1, 1]$, then the generator once on fresh noise with labels 1. The chapter's
      `EPOCHS=2000` are steps.

    The quick settings train 1,200 steps of 32 images, as `genlab run chapter --quick` does (in mixed
    precision where the CPU computes bfloat16 fast): in a short training, the number of updates matters
    more for the digits' shapes than the number of images seen.
    """),
    code("""
    gan = train("gan")
    print(f"«스텝당|per step» {gan.metrics['seconds_per_step']:.3f} «초|s»")
    show(gan.figures / "untrained.png")   # @ko 학습 전 생성자의 출력(N(0, 1) 노이즈 입력): 순수한 노이즈여야 합니다 @en the untrained generator's output from N(0, 1) noise: pure noise
    """),
    md("""
    책처럼 학습 전 생성자의 출력부터 봅니다. 아직 아무것도 배우지 않았으니 순수한 노이즈입니다. 아래는 학습하는
    동안 일정 간격으로 새 노이즈에서 뽑은 샘플 다섯 장을 한 줄(1×5)로 그린 책의 그림입니다. 처음, 중간, 마지막
    그림을 차례로 보여 줍니다.
    """, """
    As in the chapter, first the untrained generator's output: pure noise, since it has learnt nothing
    yet. Below, the chapter's figure drawn at intervals during training: five samples from fresh noise in
    one row (1 x 5). The first, a middle and the last strip:
    """),
    code("""
    strips = sorted((gan.figures / "strips").glob("step-*.png"))   # @ko sample_every 스텝마다 저장된 1x5 그림 @en the 1 x 5 strips, one every sample_every steps
    for path in dict.fromkeys([strips[0], strips[len(strips) // 2], strips[-1]]):   # @ko 처음, 중간, 마지막(겹치면 한 번만) @en first, middle, last (each once)
        show(path)
    """),
    md("""
    이제 1.1절의 평균 '모델'과 학습한 GAN을 나란히 놓아 봅시다. 평균 이미지는 몇 번을 뽑아도 같은 한 장이고,
    GAN은 노이즈가 바뀔 때마다 다른 숫자를 그립니다. `genlab.sample(run, 개수, seed=...)`은 같은 시드(seed)에서
    언제나 같은 이미지를 돌려줍니다.
    """, """
    Now section 1.1's mean "model" next to the trained GAN: the mean image is the same single picture
    however often it is drawn, the GAN draws a different digit for every noise vector.
    `genlab.sample(run, count, seed=...)` always returns the same images for the same seed.
    """),
    code("""
    first, second = genlab.sample(gan.path, 5, seed=1), genlab.sample(gan.path, 5, seed=2)   # @ko float32 (5, 28, 28, 1), [0, 1] 범위 @en float32 (5, 28, 28, 1), in [0, 1]
    print("«같은 시드는 같은 이미지|same seed, same images»:", np.array_equal(first, genlab.sample(gan.path, 5, seed=1)))
    show(plotting.image_rows([("mean 'model'", mean_model(5)), ("GAN, seed 1", first), ("GAN, seed 2", second)],
                             ROOT / "mean-vs-gan.png"))
    show(gan.figures / "losses.png")   # @ko 판별자와 생성자의 손실(점선: 판별자 정확도) @en both losses (dashed: the discriminator's accuracy)
    """),
    # ------------------------------------------------------------------ 4. beyond the chapter
    md("""
    ## 4. 책 너머

    ### 4.1 생성 모델을 숫자로 평가하기

    책은 샘플을 눈으로 보고 판단합니다. `genlab.evaluate`는 genlab에 함께 들어 있는 평가용 분류기(evaluator)의
    특징 공간에서 생성한 샘플과 실제 **테스트** 이미지를 비교합니다.

    - FID(Fréchet Inception Distance), KID: 두 이미지 집합의 특징 분포가 얼마나 다른지. 작을수록 좋습니다.
    - 정밀도(precision): 샘플이 실제 데이터가 있는 영역에 얼마나 들어가는지(품질).
      재현율(recall)과 커버리지(coverage): 실제 데이터의 다양성을 얼마나 덮는지(다양성).
    - 비교 기준 두 줄: 실제 훈련 이미지(완벽한 모델이 도달할 바닥)와 픽셀별 평균 이미지(1.1절의 결정론적 '모델').

    평균 이미지는 정밀도는 높지만(흐릿한 숫자 하나가 실제 데이터 영역 안에 있으니까요) 재현율과 커버리지는 0입니다.
    품질과 다양성을 함께 봐야 하는 이유입니다.
    """, """
    ## 4. Beyond the chapter

    ### 4.1 Scoring a generative model with numbers

    The chapter judges samples by eye. `genlab.evaluate` compares generated samples with the real
    **test** images in the feature space of an evaluator network shipped with genlab.

    - FID (Fréchet Inception Distance), KID: how far apart the two feature distributions are; lower is
      better.
    - Precision: how much of the samples falls where real data lies (quality). Recall and coverage: how
      much of the real data's variety the samples cover (diversity).
    - Two reference rows: real training images (the floor a perfect model would reach) and the per-pixel
      mean image (section 1.1's deterministic "model").

    The mean image has high precision (one blurry digit sits inside the real data) but zero recall and
    coverage: quality and diversity must be read together.
    """),
    code("""
    started = time.perf_counter()
    evaluation = genlab.evaluate(gan.path, count=SAMPLES)   # @ko GAN 샘플 SAMPLES장과 비교 기준 두 줄 @en SAMPLES GAN samples and the two reference rows
    TIMES["evaluate"] = time.perf_counter() - started
    print(evaluation.table())
    """),
    md("""
    README의 결과 표에는 같은 평가를 전체 MNIST와 책의 설정(2,000 스텝, 10,000 샘플)으로 한 숫자가 있습니다.
    책의 GAN은 FID 14.34, 평균 이미지는 105.77, 실제 훈련 이미지는 0.05입니다. 빠른 설정의 숫자는 이보다
    나쁘게 나오는 것이 정상입니다.

    ### 4.2 변분 오토인코더(VAE)

    2절의 오토인코더가 만든 코드는 잠재 공간 여기저기에 흩어져 있어서, 아무 점이나 골라 디코딩하면 숫자가
    아닌 것이 나오기 쉽습니다. 변분 오토인코더(VAE, variational autoencoder)의 인코더는 코드 하나 대신 정규
    분포의 평균과 분산을 출력하고, 손실에 KL 발산(KL divergence) 항을 더해 코드가 표준 정규 분포 $N(0, I)$를
    따르도록 만듭니다. 그래서 학습이 끝나면 $z \\sim N(0, I)$를 뽑아 디코더에 넣기만 하면 새 숫자가 나옵니다.
    genlab의 기본 VAE는 컨볼루션 인코더와 디코더, 32차원 코드를 씁니다.
    """, """
    The README's results table has the same evaluation on full MNIST with the chapter's settings (2,000
    steps, 10,000 samples): FID 14.34 for the chapter's GAN, 105.77 for the mean image, 0.05 for real
    training images. Quick settings are expected to score worse.

    ### 4.2 The variational autoencoder (VAE)

    The codes of section 2's autoencoder lie scattered in latent space, so a random point, decoded, is
    often no digit at all. A VAE's encoder outputs the mean and variance of a normal distribution instead
    of one code, and a KL-divergence term in the loss pulls the codes towards the standard normal
    $N(0, I)$. Once trained, any $z \\sim N(0, I)$ fed to the decoder gives a new digit. genlab's default
    VAE has a convolutional encoder and decoder and a 32-D code.
    """),
    code("""
    vae = train("vae", preset="default")
    print(f"«테스트 MSE|test MSE» {vae.metrics['test_mse']:.4f}")
    show(vae.figures / "reconstructions.png")   # @ko 원본(위)과 VAE의 복원(아래) @en originals over the VAE's reconstructions
    show(vae.figures / "samples.png")           # @ko z ~ N(0, I)에서 뽑은 새 숫자 @en new digits from z ~ N(0, I)
    """),
    md("""
    ### 4.3 조건부 GAN(cGAN): 원하는 숫자 그리기

    3절의 GAN은 어떤 숫자가 나올지 고를 수 없습니다. 조건부 GAN(conditional GAN)은 생성자와 판별자 모두에
    클래스 레이블을 함께 넣어, "7을 그려라"처럼 원하는 숫자를 요청할 수 있게 합니다. genlab의 cGAN은 책의
    GAN과 같은 컨볼루션 구조에 레이블 임베딩(embedding)과 투영 판별자(projection discriminator)를 더한 것입니다.
    `genlab.sample(run, 개수, label=7)`로 원하는 클래스를 뽑습니다. 한 행이 한 클래스입니다.
    """, """
    ### 4.3 The conditional GAN (cGAN): drawing the digit you ask for

    Section 3's GAN cannot be told which digit to draw. A conditional GAN feeds the class label to both
    networks, so a digit can be asked for ("draw a 7"). genlab's cGAN is the chapter's convolutional GAN
    with a label embedding and a projection discriminator. `genlab.sample(run, count, label=7)` draws one
    class; one row per class below.
    """),
    code("""
    cgan = train("cgan", preset="default")
    print(f"«요청한 클래스를 평가용 분류기가 알아본 비율|share of samples the evaluator sees as the requested class»: {cgan.metrics['conditional_accuracy']:.3f}")
    rows = np.concatenate([genlab.sample(cgan.path, 8, seed=0, label=digit) for digit in range(10)])   # @ko 클래스마다 8장 @en 8 per class
    show(genlab.save_images(rows, ROOT / "cgan-classes.png", columns=8, row_labels=[str(digit) for digit in range(10)],
                            title=f"cGAN after {cgan.metrics['steps']} steps, one row per requested class")[0])
    """),
    md("""
    ### 4.4 확산 모델(diffusion model)

    확산 모델은 genlab에 들어오는 대로 이 자리에 추가합니다. 지금 들어 있는 모델 계열(family)은 다음과 같습니다.
    """, """
    ### 4.4 Diffusion models

    Diffusion models will be added here as soon as genlab has them. The model families it holds now:
    """),
    code("""
    from genlab import families

    for name in families.names():
        print(f"{name:12s} {families.get(name).summary}")
    """),
    # ------------------------------------------------------------------ summary
    md("""
    ## 5. 정리

    이 노트북에서 학습한 모든 모델은 `ROOT` 아래 실행 폴더에 설정(`config.toml`), 학습 기록(`history.csv`),
    지표(`metrics.json`), 그림(`figures/`), 모델 파일(`.keras`)로 남아 있습니다. 명령줄에서도 똑같이 쓸 수 있습니다.
    예를 들어 `genlab sample <실행 폴더> -n 64`, `genlab evaluate <실행 폴더>`, 그리고 모든 실행을 한 페이지에 모은
    HTML 보고서를 만드는 `genlab report <실행 폴더들>`이 있습니다. 아래 셀은 그 보고서를 만들고 프로그램별 학습 시간을
    보여 줍니다.
    """, """
    ## 5. Summary

    Every model trained here stays in a run folder under `ROOT`: its settings (`config.toml`), history
    (`history.csv`), metrics (`metrics.json`), figures (`figures/`) and model files (`.keras`). The command
    line does the same: `genlab sample <run folder> -n 64`, `genlab evaluate <run folder>`, and an HTML
    report of all runs on one page, `genlab report <run folders>`. The cell below writes that report and
    shows the time each program took.
    """),
    code("""
    runs = [classifier, ae, dae, gan, vae, cgan]
    page = genlab.report([run.path for run in runs], ROOT / "report.html", title="chapter 12 notebook")
    print("«보고서|report»:", page)
    for name, seconds in TIMES.items():
        print(f"{name:12s} {seconds:6.1f} «초|s»")
    print(f"«합계|total»        {sum(TIMES.values()):6.1f} «초|s»")
    """),
]
